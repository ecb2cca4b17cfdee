;; Полилиния по точкам
(defun c:ПЕРЛИН (/ точка)
	(command "_.PLINE")
	(while (setq точка (getpoint "\nТочка: "))
		(command точка)
	)
	(command "")
	(princ)
)
